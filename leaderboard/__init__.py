"""The dataperf server side: database, data ratchet, job queue, HTTP API and web pages."""
