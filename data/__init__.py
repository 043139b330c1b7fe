"""The bundled demo organisation (Lumen Freight), shipped with the package."""
