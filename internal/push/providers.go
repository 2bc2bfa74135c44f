package push

// addProviders makes the senders of the app platforms whose clients Deps
// has.
func (s *Service) addProviders() {}
