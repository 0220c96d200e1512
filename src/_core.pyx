# placeholder, replaced by the real core
