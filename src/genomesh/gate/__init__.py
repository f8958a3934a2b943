"""THE outflow of a node: guard -> execute -> disclose -> audit, composed once, used by every surface."""
