import { defineConfig } from 'prisma/config'

// The Prisma CLI's view of the project. The service itself never reads this file: it applies
// prisma/migrations with its own runner (`tollgate migrate`), which records them exactly as
// `prisma migrate deploy` does, so either tool can be used where Prisma's engine is available.
export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: {
    path: 'prisma/migrations',
  },
  datasource: {
    url: process.env.DATABASE_URL ?? 'postgresql://postgres@127.0.0.1:5432/tollgate',
  },
})
