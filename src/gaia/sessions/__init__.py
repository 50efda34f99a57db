"""tmux development sessions: create, drive, read, persist, restore and clean up."""
