"""Process-level run-time services that both methods and the engine use, and that know no method, model or
benchmark: the device choice (`device`), multi-process training (`distributed`), crash injection points for the
crash tests (`faults`) and verified checkpoint files (`checkpoint`). Base layer: imports only errors and io."""
