module github.com/sluice-cdc/sluice/apply

go 1.26.0

require github.com/sluice-cdc/sluice/pkg v0.0.0

replace github.com/sluice-cdc/sluice/pkg => ../pkg
