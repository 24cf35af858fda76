"""The Streamlit app: pages render and dispatch; the work happens in the core modules."""
