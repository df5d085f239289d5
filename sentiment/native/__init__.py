"""The machine: the compiled loops (``_fast``, from the C files here), the module that picks
them or their numpy twins (:mod:`.loops`)."""
