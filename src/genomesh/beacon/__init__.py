"""GA4GH Beacon v2: request/response models, query engine, routers."""
