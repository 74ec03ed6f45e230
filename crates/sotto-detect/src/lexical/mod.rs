//! Recognisers driven by word lists: person names, addresses and the GDPR Art. 9 special
//! categories, with the context rules that keep impersonal mentions from firing.
