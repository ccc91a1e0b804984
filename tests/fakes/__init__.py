"""Local fakes of the outside APIs (GA4, Mailchimp, Stripe) as small HTTP servers for tests."""
