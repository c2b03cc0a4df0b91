"""The worker process: RQ workers whose jobs run inside an app context, and the periodic tick."""
