"""Streamlit-side building blocks of Descent Lab: the race player component and its static assets."""
