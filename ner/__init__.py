"""The named-entity recognition example (the course's nlp/)."""
