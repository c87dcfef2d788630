"""The server: the one writer in front of the engine, its clock, fan-out, configuration and wiring."""
