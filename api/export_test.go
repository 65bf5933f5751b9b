package api

// ProblemTypeOf is the problem type URI a status answers with (for 400
// and 422, the general one: validation failures name their field).
func ProblemTypeOf(status int) string {
	return newProblem(status, "").Type
}

// ProblemTypeBase prefixes every problem type URI.
const ProblemTypeBase = problemTypeBase
