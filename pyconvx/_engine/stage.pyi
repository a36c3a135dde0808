"""Type stubs of the engine's staging module (see stage.pyx): C-level functions only."""
