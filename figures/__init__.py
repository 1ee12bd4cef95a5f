"""Pictures of surfaces and races (plotly only, no streamlit): backgrounds and the optimizer palette."""
