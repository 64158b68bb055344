package offline_test

func childMain() bool { return false }
