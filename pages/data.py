"""Data: gradient descent on real data — batch, mini-batch and stochastic, with epochs."""

from ui.data import show_data_page
from ui.page import use_app_navigation

use_app_navigation()
show_data_page()
