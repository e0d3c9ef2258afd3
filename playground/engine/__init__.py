"""Running a comparison: the engine and its lanes, the figures, the runtime of loaded backends, the CPU budget, model discovery."""
