"""Access control: GA4GH Passports and visas (issue, verify, JWKS), DUO purpose matching, jurisdiction rules."""
