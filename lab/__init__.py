"""App logic shared by the pages that needs neither streamlit nor plotly: races, presets, exports."""
