module github.com/sluice-cdc/sluice/apply

go 1.26.0
