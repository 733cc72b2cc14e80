"""The SpaceTools tool-call protocol: schemas, calls, validation, variables and response texts."""
