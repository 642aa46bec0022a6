package taxii

import "github.com/gin-gonic/gin"

// adminRoutes registers the admin API under /admin/v1/.
func (s *Server) adminRoutes(handle func(method, path string, h func(*gin.Context) error)) {
}
