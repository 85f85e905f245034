-- CreateTable
CREATE TABLE "erased_sessions" (
    "id" UUID NOT NULL,
    "revoked_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "erased_sessions_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "erased_sessions_revoked_at_idx" ON "erased_sessions"("revoked_at");
