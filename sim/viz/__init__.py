"""The interactive lifecycle page (``clmsim viz``), built on Mesa's SolaraViz."""
