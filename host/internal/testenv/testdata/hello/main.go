// Command hello is a tiny program that testenv's tests build with
// BuildBinary.
package main

import "fmt"

func main() { fmt.Println("hello from testenv") }
