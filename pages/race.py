import streamlit as st

st.title("Race")
