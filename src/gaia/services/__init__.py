"""Services: dev servers supervised with health checks, restarts, logs and metrics."""
