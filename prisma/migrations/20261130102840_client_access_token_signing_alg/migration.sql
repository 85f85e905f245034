-- AlterTable
ALTER TABLE "oauth_clients" ADD COLUMN     "access_token_signing_alg" TEXT;
