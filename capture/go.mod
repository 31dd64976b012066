module github.com/sluice-cdc/sluice/capture

go 1.26.0

require github.com/go-mysql-org/go-mysql v1.16.0 // indirect
