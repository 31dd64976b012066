module github.com/sluice-cdc/sluice/capture

go 1.26.0

require (
	github.com/sluice-cdc/sluice/pkg v0.0.0
	go.uber.org/zap v1.28.0
	golang.org/x/sync v0.24.0
)

require (
	github.com/stretchr/testify v1.11.1 // indirect
	go.uber.org/multierr v1.11.0 // indirect
)

replace github.com/sluice-cdc/sluice/pkg => ../pkg
