"""Triton Python-backend models (imported by the ``model.py`` files that ``trt_helper.triton`` exports; they run
inside Triton's Python stub, where ``triton_python_backend_utils`` exists)."""
