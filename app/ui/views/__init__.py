"""One module per page, each with `render(ctx, ...)`. (Not named pages/: Streamlit would auto-load that.)"""
