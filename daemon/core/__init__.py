"""What every stage uses: errors, the clock, backoff, logging, the plain data passed
between stages, the extension registry, secrets, the HTTP edge, sd_notify."""
