// Command hello is what the GoBuild test builds and runs.
package main

import (
	"fmt"
	"os"
)

func main() { fmt.Println("hello from", os.Args[1]) }
