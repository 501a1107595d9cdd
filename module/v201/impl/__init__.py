"""The framework side of the 2.0.1 module: options, requirements and provided interfaces over module/v201."""
