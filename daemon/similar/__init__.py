""" "More like these": the model, its training (in a process of its own) and the job that
scores new papers. Light on purpose: numpy and scikit-learn are imported by the modules
that need them."""
