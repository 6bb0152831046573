"""Pure lifecycle rules of coopflow: no I/O, no Temporal, no clock (time is an argument)."""
