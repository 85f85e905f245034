-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "dpop_jkt" TEXT;

-- AlterTable
ALTER TABLE "oauth_clients" ADD COLUMN     "dpop_bound_access_tokens" BOOLEAN NOT NULL DEFAULT false;

-- CreateTable
CREATE TABLE "dpop_proofs" (
    "key" TEXT NOT NULL,
    "expires_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "dpop_proofs_pkey" PRIMARY KEY ("key")
);

-- CreateIndex
CREATE INDEX "dpop_proofs_expires_at_idx" ON "dpop_proofs"("expires_at");
