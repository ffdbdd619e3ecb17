"""`amlops infra plan`: the Pulumi program evaluated under mocks: resources, policy results, cost, diffs.

Pure-ish: files in, data out. `inventory` runs the program, `policy` applies `infra/policy`,
`cost` prices it from the price sheet, `diff` compares two evaluations, `render` formats them.
"""
