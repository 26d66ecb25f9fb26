package tmpdeps

import (
	_ "github.com/google/go-cmp/cmp"
	_ "github.com/google/uuid"
	_ "github.com/labstack/echo/v4"
	_ "github.com/olahol/melody"
	_ "golang.org/x/time/rate"
	_ "modernc.org/sqlite"
)
