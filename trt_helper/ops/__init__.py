"""Op families mixed into :class:`trt_helper.NetworkHelper`, one file each."""
