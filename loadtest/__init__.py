"""A browser-free load generator for Descent Lab: virtual visitors that speak Streamlit's websocket protocol.

``python -m loadtest --url http://127.0.0.1:8501 --visitors 50 --reruns 3`` (see ``loadtest.__main__``).
``loadtest.protocol`` builds and parses the messages, ``loadtest.visitor`` plays one visitor,
``loadtest.__main__`` runs many and prints the table.
"""
