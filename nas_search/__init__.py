"""nas-search: hardware-aware, multi-objective sub-network search.

``import nas_search`` stays light: heavy libraries (pandas, pymoo, torch, xgboost) load only
in the modules that use them.
"""

__version__ = "0.1.0"
