"""A small real parameter server, recorded, and absjax's prediction of it."""
