"""What people read: the rendered map and the messages built from it."""
