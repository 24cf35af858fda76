"""Model access: one seam (`get_model`) builds every client; see base.py for the protocol."""
